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
void filter_ubpf_trace_aborted(const char *id, uint64_t r0);
void filter_ubpf_trace_redirect_failed(const char *id, uint32_t ifindex,
                                       const char *why);
bool filter_ubpf_trace_printk_enabled(void);
void filter_ubpf_trace_printk(const char *id, const char *line);
bool filter_ubpf_trace_verdict_enabled(void);
void filter_ubpf_trace_verdict(const char *id, const char *action, uint64_t r0,
                               unsigned len);
void filter_ubpf_trace_unloaded(const char *id, const char *path,
                                const char *section);

#endif
