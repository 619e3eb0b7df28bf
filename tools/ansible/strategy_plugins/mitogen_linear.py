"""Mitogen's linear strategy, from the mitogen package pinned in constraints.txt (ansible.cfg selects it).

Ansible's own linear strategy starts a fresh Python on the host for every task, and that start (importing Ansible's
module_utils) was most of a re-run's time; Mitogen keeps one Python per host for the whole run. Mitogen ships the
plugin inside its package; this file loads it from the installed package, so ansible.cfg needs no path into the venv.
ANSIBLE_STRATEGY=linear runs without it (docs/performance.md, "Start-up and re-runs").
"""

from __future__ import annotations

import ansible_mitogen.loaders
import ansible_mitogen.strategy

_Linear = ansible_mitogen.loaders.strategy_loader.get("linear", class_only=True)


class StrategyModule(ansible_mitogen.strategy.StrategyMixin, _Linear):  # type: ignore[misc,valid-type]
    """Ansible's linear strategy, its task runs carried by Mitogen."""
