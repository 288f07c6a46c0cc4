"""A small aiogram-style router: handlers registered with filters, tried in order.

A filter is `async (ctx) -> bool | dict`; a dict is passed to the handler as keyword arguments.
A handler returns nothing when it handled the message, or SKIP to let later handlers try."""

from __future__ import annotations

from typing import Awaitable, Callable

from pingan.handlers.context import Context

SKIP = object()
Filter = Callable[[Context], Awaitable[bool | dict]]
Handler = Callable[..., Awaitable[object]]


class Router:
    def __init__(self, name: str) -> None:
        self.name = name
        self.handlers: list[tuple[tuple[Filter, ...], Handler]] = []
        self.children: list[Router] = []

    def message(self, *filters: Filter):
        def register(fn: Handler) -> Handler:
            self.handlers.append((filters, fn))
            return fn

        return register

    def include(self, *routers: "Router") -> None:
        self.children.extend(routers)

    async def dispatch(self, ctx: Context) -> bool:
        for filters, fn in self.handlers:
            kwargs: dict = {}
            for f in filters:
                result = await f(ctx)
                if not result:
                    break
                if isinstance(result, dict):
                    kwargs.update(result)
            else:
                if await fn(ctx, **kwargs) is not SKIP:
                    ctx.handled_by = f"{self.name}.{fn.__name__}"
                    return True
        for child in self.children:
            if await child.dispatch(ctx):
                return True
        return False
