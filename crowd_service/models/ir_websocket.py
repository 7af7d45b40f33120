from odoo import models


class IrWebsocket(models.AbstractModel):
    _inherit = "ir.websocket"

    def _build_bus_channel_list(self, channels):
        """A tracking page subscribes to ``crowd.job.tracking:<job id>[:<access token>]``: the job's tracking
        channel is added when the session's user may read the job or holds its portal access token."""
        channels = list(channels)  # do not alter the caller's list
        Job = self.env["crowd.job"]
        for channel in list(channels):
            if isinstance(channel, str) and channel.startswith("crowd.job.tracking:"):
                channels.remove(channel)
                job = Job._crowd_tracking_channel_job(channel)
                if job:
                    channels.append((job, "tracking"))
        return super()._build_bus_channel_list(channels)
