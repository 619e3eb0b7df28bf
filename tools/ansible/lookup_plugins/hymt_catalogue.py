"""lookup('hymt_catalogue', 'requirements'): the model catalogue of the translation core (hymt.core.catalogue), for the
roles. 'requirements' gives what each model needs on a vLLM host, keyed by model id; 'models' every entry as plain
data."""

from __future__ import annotations

from ansible.errors import AnsibleLookupError
from ansible.plugins.lookup import LookupBase

from hymt.core import catalogue

_VIEWS = {"requirements": catalogue.requirements, "models": catalogue.as_dicts}


class LookupModule(LookupBase):
    def run(self, terms, variables=None, **kwargs):
        results = []
        for term in terms:
            if term not in _VIEWS:
                raise AnsibleLookupError(f"hymt_catalogue: unknown view {term!r}; use one of {', '.join(_VIEWS)}")
            results.append(_VIEWS[term]())
        return results
