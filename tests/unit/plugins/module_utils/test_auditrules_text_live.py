"""The round trip of rule text on the real kernel: text -> model -> rendered line -> auditctl -l.

For every line form of test_auditrules_text.FORMS (the forms of the audit package's sample files
and those of CIS and community sets, written as the project's own lines): auditctl loads the line as written, and, on an empty list again, the
line(s) the model renders for it; `auditctl -l` must print the same for both, and exactly what
the model's listing() says (the canonical form the module proves with). Holds the machine-wide
test lock; the kernel's list and rules.d are put back afterwards.
"""
import pytest

from ansible_collections.auditfleet.auditd.plugins.module_utils._rulecheck import validate_rules

from ansible_collections.auditfleet.auditd.plugins.module_utils._rulehost import HostArch

from ansible_collections.auditfleet.auditd.plugins.module_utils._ruletext import rules_from_text
from tests.lib import liveaudit
from tests.unit.plugins.module_utils.test_auditrules_text import FORMS
from tests.unit.plugins.modules.test_audit_rule_harness import (
    AUDITCTL, REASON, auditctl_list, guarded_host)

pytestmark = pytest.mark.skipif(REASON is not None, reason="real auditd needed: %s" % REASON)


def load(line):
    """auditctl -D, then LINE as auditctl -R would run it (split at spaces); the listing."""
    liveaudit.run([AUDITCTL, "-D"])
    res = liveaudit.run([AUDITCTL] + [w for w in line.split(" ") if w], check=False)
    assert res.returncode == 0, (line, res.stderr)
    return auditctl_list()


def test_text_model_rendered_line_and_auditctl_agree():
    host = HostArch()
    if host.machine != "x86_64" or not host.runs_compat():
        pytest.skip("the expected listings are those of x86_64 with 32-bit programs (b32)")
    problems = []
    with guarded_host():
        try:
            for line, listed in FORMS:
                rules = validate_rules(rules_from_text(line).items, host)
                as_written = load(line)
                rendered = []
                liveaudit.run([AUDITCTL, "-D"])
                for rule in rules:
                    res = liveaudit.run([AUDITCTL] + rule.render().split(" "), check=False)
                    assert res.returncode == 0, (rule.render(), res.stderr)
                rendered = auditctl_list()
                model = [r.listing() for r in rules]
                if not (as_written == rendered == model == listed):
                    problems.append("%s\n  written:  %s\n  rendered: %s\n  model:    %s\n  expected: %s"
                                    % (line, as_written, rendered, model, listed))
        finally:
            liveaudit.run([AUDITCTL, "-D"])
    assert problems == [], "\n".join(problems)
