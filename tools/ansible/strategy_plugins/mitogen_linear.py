"""Mitogen's linear strategy, chosen per run: ANSIBLE_STRATEGY=mitogen_linear (docs/performance.md, "Mitogen").

Ansible's own linear strategy, the default, starts a fresh Python on the host for every task, and importing Ansible's
module_utils there is most of what a task costs when it has nothing to change. Mitogen keeps one Python per host for
the whole run. It is not the default: Ansible calls third-party strategies deprecated, mitogen 0.3.29 (pinned in
constraints.txt) supports ansible-core up to 2.19, and a fleet deploy under heavy load once lost a GPU host with it
(unreachable, cause not found). Mitogen ships this plugin inside its package; this file loads it from the installed
package, so ansible.cfg needs no path into the venv.
"""

from __future__ import annotations

import ansible_mitogen.loaders
import ansible_mitogen.strategy

_Linear = ansible_mitogen.loaders.strategy_loader.get("linear", class_only=True)


class StrategyModule(ansible_mitogen.strategy.StrategyMixin, _Linear):  # type: ignore[misc,valid-type]
    """Ansible's linear strategy, its task runs carried by Mitogen."""
