"""The one declaration of a message's delivery status, as message_sends records it.

Delivery writes these, `check-run` and the run summary count them, the SQL reports
filter on them, and the tests build rows with them: all from here. A status is a
plain string on the wire and in Delta (cheap to pickle between Flink's workers).
"""

from __future__ import annotations

from typing import Literal, get_args

Status = Literal["sent", "failed", "deferred", "paused", "suppressed", "in_doubt"]
# In the order reports show them.
STATUSES: tuple[Status, ...] = get_args(Status)
# Nothing more happens to such a message.
FINAL_STATUSES: tuple[Status, ...] = ("sent", "failed", "suppressed")
# A later delivery run picks such a message up again (a cap, an outage, a pause).
PENDING_STATUSES: tuple[Status, ...] = ("deferred", "paused")
# A request left without knowing whether the provider took it (a crash, a timeout):
# never sent again until the provider's export says it was not sent (reconcile.py).
IN_DOUBT: Status = "in_doubt"
