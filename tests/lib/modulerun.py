"""Run one of the collection's modules in this process, as Ansible would.

The module's main() reads its arguments the way AnsibleModule does on a host and prints its
result as JSON; this returns that result. Works with ansible-core 2.16 (basic._ANSIBLE_ARGS)
and 2.19+ (ansible.module_utils.testing.patch_module_args).
"""
import contextlib
import importlib
import io
import json


@contextlib.contextmanager
def module_args(args):
    try:
        from ansible.module_utils.testing import patch_module_args  # ansible-core 2.19+
    except ImportError:
        patch_module_args = None
    if patch_module_args is not None:
        with patch_module_args(args):
            yield
        return
    from ansible.module_utils import basic
    saved = basic._ANSIBLE_ARGS
    basic._ANSIBLE_ARGS = json.dumps({"ANSIBLE_MODULE_ARGS": args}).encode("utf-8")
    try:
        yield
    finally:
        basic._ANSIBLE_ARGS = saved


def _clear_warnings():
    from ansible.module_utils.common import warnings
    for name in ("_global_warnings", "_global_deprecations"):
        store = getattr(warnings, name, None)
        if store is not None:
            store.clear()


@contextlib.contextmanager
def _as_target():
    """From ansible-core 2.19 on, warn() hands warnings to the controller's display instead of the
    module result once anything in the process has imported controller code (the filter tests do).
    A module on a host is never the controller: say so while it runs."""
    try:
        from ansible.module_utils import _internal
    except ImportError:  # ansible-core < 2.19
        yield
        return
    saved = getattr(_internal, "is_controller", False)
    _internal.is_controller = False
    try:
        yield
    finally:
        _internal.is_controller = saved


def _warning_text(warning):
    """A warning's text: a string up to ansible-core 2.18, a WarningSummary dict
    ({"event": {"msg": ...}}) from 2.19 on."""
    if isinstance(warning, dict):
        event = warning.get("event") if isinstance(warning.get("event"), dict) else warning
        return event.get("msg") or event.get("message") or json.dumps(warning)
    return str(warning)


def run_module(name, args, check_mode=False, diff=False):
    """Run auditfleet.auditd.NAME with ARGS; return its result (with 'failed' if it failed)."""
    module = importlib.import_module("ansible_collections.auditfleet.auditd.plugins.modules." + name)
    args = dict(args)
    if check_mode:
        args["_ansible_check_mode"] = True
    if diff:
        args["_ansible_diff"] = True
    _clear_warnings()
    out = io.StringIO()
    with module_args(args), _as_target(), contextlib.redirect_stdout(out):
        try:
            module.main()
        except SystemExit:
            pass
    lines = [line for line in out.getvalue().splitlines() if line.strip()]
    assert lines, "the module printed nothing"
    result = json.loads(lines[-1])
    result["warnings"] = [_warning_text(w) for w in result.get("warnings", [])]
    return result
