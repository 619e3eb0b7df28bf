"""The roles' decisions and checks, one module per role, in plain Python: the roles reach them through the thin filter
plugins of tools/ansible/filter_plugins/ (ansible.cfg's filter_plugins), the tests call them directly. What several
roles (and `hymt verify`) know about GPU hosts and Docker is hymt.hostfacts'."""
