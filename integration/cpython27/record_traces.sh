#!/usr/bin/env bash
# Records the CPython 2.7 traces of traces/ (the line-27 rows of
# integration/common/record_traces.sh's table), with the patched 2.7 that
# run.sh builds; see that script for the settings.
#
#   integration/cpython27/record_traces.sh [NAME ...]   (no name: every 2.7 trace)
#
#   ZF_CPY_WORK=/tmp/zf-cpython27 integration/cpython27/run.sh deps fetch build-patched
#   ZF_CPY_WORK=/tmp/zf-cpython27 integration/cpython27/record_traces.sh
#   ZF_CPY_WORK=/tmp/zf-cpython27 ZF_REC_CHECK_ONLY=1 integration/cpython27/record_traces.sh
exec bash "$(dirname "$0")/../common/record_traces.sh" 27 "$@"
