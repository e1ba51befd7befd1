/*
 * filter-ubpf: trace points for the Rust filter (rust/net/filter-ubpf)
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * QEMU 10.0 has no trace point bindings for Rust: the filter calls these
 * functions, which fire the events declared in net/trace-events.
 */

#ifndef NET_FILTER_UBPF_TRACE_H
#define NET_FILTER_UBPF_TRACE_H

void filter_ubpf_trace_loaded(const char *id, bool replaced, const char *path,
                              const char *section, unsigned insns, bool jit);
void filter_ubpf_trace_load_failed(const char *id, const char *error);
bool filter_ubpf_trace_run_error_enabled(void);
void filter_ubpf_trace_run_error(const char *id, const char *error);

#endif
