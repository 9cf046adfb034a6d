"""Where the replies to one incoming activity go."""

from __future__ import annotations

from botbuilder.core import TurnContext
from botbuilder.schema import Activity


class Outbox:
    """Replies to one activity: through its own turn while the request is open, then
    through a proactive turn once the answer outlives the request (`ctx` is swapped)."""

    def __init__(self, ctx: TurnContext) -> None:
        self.ctx = ctx

    async def send(self, activity: Activity | str) -> str:
        """Post a reply; the id Teams gave it (for updates, or as a stream's id)."""
        response = await self.ctx.send_activity(activity)
        return (response.id or "") if response is not None else ""

    async def update(self, activity_id: str, activity: Activity) -> None:
        activity.id = activity_id
        activity.type = activity.type or "message"
        await self.ctx.update_activity(activity)
