from . import crowd_payout_bill_wizard, crowd_payout_reason_wizard
