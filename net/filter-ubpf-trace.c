/*
 * filter-ubpf: trace points for the Rust filter (rust/net/filter-ubpf)
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "trace/control.h"
#include "filter-ubpf-trace.h"
#include "trace.h"

void filter_ubpf_trace_loaded(const char *id, bool replaced, const char *path,
                              const char *section, unsigned insns, bool jit)
{
    trace_filter_ubpf_loaded(id, replaced ? "replaced by" : "loaded", path,
                             section, insns, jit);
}

void filter_ubpf_trace_load_failed(const char *id, const char *error)
{
    trace_filter_ubpf_load_failed(id, error);
}

/* lets the filter skip formatting the message when nobody listens */
bool filter_ubpf_trace_run_error_enabled(void)
{
    return trace_event_get_state_backends(TRACE_FILTER_UBPF_RUN_ERROR);
}

void filter_ubpf_trace_run_error(const char *id, const char *error)
{
    trace_filter_ubpf_run_error(id, error);
}

void filter_ubpf_trace_aborted(const char *id, uint64_t r0)
{
    trace_filter_ubpf_aborted(id, r0);
}

void filter_ubpf_trace_redirect_failed(const char *id, uint32_t ifindex,
                                       const char *why)
{
    trace_filter_ubpf_redirect_failed(id, ifindex, why);
}

bool filter_ubpf_trace_printk_enabled(void)
{
    return trace_event_get_state_backends(TRACE_FILTER_UBPF_PRINTK);
}

void filter_ubpf_trace_printk(const char *id, const char *line)
{
    trace_filter_ubpf_printk(id, line);
}

/* per packet: lets the filter skip the call when nobody listens */
bool filter_ubpf_trace_verdict_enabled(void)
{
    return trace_event_get_state_backends(TRACE_FILTER_UBPF_VERDICT);
}

void filter_ubpf_trace_verdict(const char *id, const char *action, uint64_t r0,
                               unsigned len)
{
    trace_filter_ubpf_verdict(id, action, r0, len);
}

void filter_ubpf_trace_unloaded(const char *id, const char *path,
                                const char *section)
{
    trace_filter_ubpf_unloaded(id, path, section);
}
