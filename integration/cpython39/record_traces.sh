#!/usr/bin/env bash
# Records the CPython 3.9 traces of traces/ (the line-39 rows of
# integration/common/record_traces.sh's table), with the patched 3.9 that
# run.sh builds; see that script for the settings.
#
#   integration/cpython39/record_traces.sh [NAME ...]   (no name: every 3.9 trace)
#
#   ZF_CPY_WORK=/tmp/zf-cpython39 integration/cpython39/run.sh deps fetch build-patched bench-deps
#   ZF_CPY_WORK=/tmp/zf-cpython39 integration/cpython39/record_traces.sh
#   ZF_CPY_WORK=/tmp/zf-cpython39 ZF_REC_CHECK_ONLY=1 integration/cpython39/record_traces.sh
exec bash "$(dirname "$0")/../common/record_traces.sh" 39 "$@"
