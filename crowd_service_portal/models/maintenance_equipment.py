from urllib.parse import quote, urlencode

from odoo import models


class MaintenanceEquipment(models.Model):
    _inherit = "maintenance.equipment"

    def _crowd_service_url(self):
        """The portal form that reports a problem on this asset (printed as a QR code on its label)."""
        self.ensure_one()
        return f"{self.get_base_url()}/my/service/new?{urlencode({'equipment': self.id})}"

    def _crowd_qr_src(self):
        """Image URL of the QR code of :meth:`_crowd_service_url` (Odoo's barcode route)."""
        self.ensure_one()
        return (
            f"/report/barcode/?barcode_type=QR&width=240&height=240&value={quote(self._crowd_service_url(), safe='')}"
        )
