from odoo import SUPERUSER_ID, api
from odoo.tests import TransactionCase


class CommittedDataCase(TransactionCase):
    """Concurrency needs data that separate transactions see: a subclass commits it in ``_commit_setup()`` (on a
    cursor of its own; returns the ids it made) and removes it in ``_cleanup()``."""

    def setUp(self):
        super().setUp()
        self.ids = self._commit_setup()
        self.addCleanup(self._cleanup)

    def _commit_setup(self):
        raise NotImplementedError

    def _cleanup(self):
        raise NotImplementedError

    def _env(self, cr):
        # bind the transaction to the registry directly: looking the registry up by name would wait for the
        # registry lock the test runner holds in the main thread
        cr.transaction = api.Transaction(self.registry)
        return api.Environment(cr, SUPERUSER_ID, {"tracking_disable": True})
