"""Offline stand-in for pip's get-pip.py, used by ansible-test sanity here.

ansible-test bootstraps pip in each per-test virtualenv by downloading get-pip-<version>.py,
which cannot be reached from these machines. It looks first in
~/.ansible/test/cache/get_pip_<version>.py, where tools/ansible_test_sanity.sh puts this file.

Like get-pip.py, it runs pip from a wheel, here the one bundled with the interpreter's ensurepip,
as 'pip install ARGS' with the arguments ansible-test passes (the pinned pip, setuptools, wheel),
so pip is installed once. Without a bundled wheel it falls back to ensurepip first.
"""
import glob
import os
import runpy
import sys

# get-pip.py's own options, which 'pip install' does not know.
ARGS = [a for a in sys.argv[1:] if a not in ("--no-setuptools", "--no-wheel")]


def bundled_pip_wheel():
    import ensurepip  # pylint: disable=import-outside-toplevel
    wheels = glob.glob(os.path.join(os.path.dirname(ensurepip.__file__), "_bundled", "pip-*.whl"))
    return sorted(wheels)[-1] if wheels else None


def main():
    wheel = bundled_pip_wheel()
    if wheel:
        sys.path.insert(0, wheel)  # pip runs from its wheel (a zip), as get-pip.py does
    else:
        import ensurepip  # pylint: disable=import-outside-toplevel
        ensurepip.bootstrap()
        # ensurepip sets PIP_CONFIG_FILE=/dev/null in this process; drop it so the machine's pip
        # configuration (index, certificates) applies again, or pip cannot reach the registry.
        os.environ.pop("PIP_CONFIG_FILE", None)
    sys.argv = ["pip", "install"] + ARGS
    runpy.run_module("pip", run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
