"""pyzmq's ``zmq.log.handlers``: publish Python logging records on a PUB socket.

Each record becomes a two-frame message ``[topic, text]``:

- ``topic`` is ``ROOT.LEVEL.SUBTOPIC`` joined with dots (UTF-8): the handler's
  ``root_topic`` (left out while it is empty), the record's level name
  (``INFO``, ``WARNING``...), then the sub-topic a message may carry before
  :data:`TOPIC_DELIM` (``log.info("db.pool::out of connections")`` publishes
  topic ``ROOT.INFO.db.pool`` and text ``out of connections``). Subscribers
  filter by prefix, so ``b"ROOT.ERROR"`` gets only errors.
- ``text`` is the record formatted by the formatter for its level (UTF-8).
  The defaults are pyzmq's: ``"%(message)s\\n"`` for INFO, the level, file
  and line first for the others; :meth:`PUBHandler.setFormatter` replaces
  them all or one level's.

``python -m purezmq.log ENDPOINT`` (``python -m zmq.log`` under
:func:`purezmq.install_as_zmq`) subscribes and prints what arrives.
"""

from __future__ import annotations

import copy
import logging
from typing import Any

__all__ = ["TOPIC_DELIM", "PUBHandler", "TopicLogger"]

TOPIC_DELIM = "::"  # separates a message's own sub-topic from its text

_LOCATED = "%(levelname)s %(filename)s:%(lineno)d - %(message)s\n"


def _default_formatters() -> dict[int, logging.Formatter]:
    # pyzmq's formats, so that watchers written for it read ours the same.
    return {
        logging.DEBUG: logging.Formatter(_LOCATED),
        logging.INFO: logging.Formatter("%(message)s\n"),
        logging.WARNING: logging.Formatter(_LOCATED),
        logging.ERROR: logging.Formatter(
            "%(levelname)s %(filename)s:%(lineno)d - %(message)s - %(exc_info)s\n"
        ),
        logging.CRITICAL: logging.Formatter(_LOCATED),
    }


class PUBHandler(logging.Handler):
    """A logging handler that publishes each record on a PUB socket.

    ``interface_or_socket`` is either a socket to publish on (already bound or
    connected; the handler uses its context) or an endpoint string, which the
    handler binds a new PUB socket to -- in ``context`` if given, else in a new
    Context of its own. So these are the same::

        pub = ctx.socket(zmq.PUB); pub.bind("tcp://127.0.0.1:5555")
        handler = PUBHandler(pub)

        handler = PUBHandler("tcp://127.0.0.1:5555", ctx)

    ``root_topic`` prefixes every topic (see the module docstring).
    :meth:`close` (called by ``logging.shutdown()`` at exit) closes the socket
    only if the handler made it, giving queued records ``close_linger`` ms to
    leave; a socket you passed in stays yours.
    """

    socket: Any
    ctx: Any
    close_linger = 1000  # ms that close() gives queued records on a socket the handler made

    def __init__(
        self,
        interface_or_socket: Any,
        context: Any = None,
        root_topic: str = "",
    ) -> None:
        super().__init__()
        self.root_topic = root_topic
        self.formatters = _default_formatters()
        self._owns_socket = isinstance(interface_or_socket, str | bytes)
        self._owns_context = False
        if self._owns_socket:
            import purezmq

            endpoint = interface_or_socket
            if isinstance(endpoint, bytes):
                endpoint = endpoint.decode()
            if context is None:
                context = purezmq.Context()
                self._owns_context = True
            self.ctx = context
            self.socket = context.socket(purezmq.PUB)
            try:
                self.socket.bind(endpoint)
            except BaseException:
                self.socket.close(linger=0)
                if self._owns_context:
                    context.term()
                raise
        else:
            self.socket = interface_or_socket
            self.ctx = interface_or_socket.context

    @property
    def root_topic(self) -> str:
        """The first part of every topic this handler publishes ('' for none)."""
        return self._root_topic

    @root_topic.setter
    def root_topic(self, value: str | bytes) -> None:
        self.setRootTopic(value)

    def setRootTopic(self, root_topic: str | bytes) -> None:
        """Set :attr:`root_topic` (bytes are decoded as UTF-8).

        A subscriber then needs a subscription that is a prefix of it (or the
        empty subscription) to receive anything from this handler.
        """
        if isinstance(root_topic, bytes):
            root_topic = root_topic.decode("utf8")
        self._root_topic = root_topic

    def setFormatter(self, fmt: logging.Formatter | None, level: int = logging.NOTSET) -> None:
        """Use ``fmt`` for records of ``level``; for every level if ``level`` is NOTSET.

        Without a level this replaces all the per-level formatters, the
        defaults included.
        """
        if level == logging.NOTSET:
            super().setFormatter(fmt)
            for known in list(self.formatters):
                self.formatters[known] = fmt  # type: ignore[assignment]
        else:
            self.formatters[level] = fmt  # type: ignore[assignment]

    def _formatter_for(self, levelno: int) -> logging.Formatter | None:
        found = self.formatters.get(levelno)
        if found is not None:
            return found
        # A custom level: the formatter of the nearest standard level below it.
        below = [lvl for lvl in self.formatters if lvl <= levelno]
        if below:
            return self.formatters[max(below)]
        return self.formatter

    def format(self, record: logging.LogRecord) -> str:
        """The record's text, formatted for its level."""
        fmt = self._formatter_for(record.levelno)
        if fmt is None:
            return super().format(record)
        return fmt.format(record)

    def emit(self, record: logging.LogRecord) -> None:
        """Publish ``[topic, text]`` for the record (see the module docstring)."""
        try:
            text = str(record.msg)
            subtopic = ""
            if TOPIC_DELIM in text:
                subtopic, rest = text.split(TOPIC_DELIM, 1)
                record = copy.copy(record)  # other handlers still see the original
                record.msg = rest
            body = self.format(record).encode("utf8")
            parts = [self.root_topic] if self.root_topic else []
            parts.append(record.levelname)
            if subtopic:
                parts.append(subtopic)
            topic = ".".join(parts).encode("utf8", "replace")
            self.socket.send_multipart([topic, body])
        except RecursionError:
            raise
        except Exception:
            self.handleError(record)

    def close(self) -> None:
        """Detach from logging; close the socket (and Context) if the handler made them."""
        try:
            if self._owns_socket and not self.socket.closed:
                self.socket.close(linger=self.close_linger)
                ctx = self.ctx
                if self._owns_context and all(s.closed for s in list(ctx._sockets)):
                    ctx.term()
        finally:
            super().close()


class TopicLogger(logging.Logger):
    """A Logger whose calls take a topic before the message.

    ``logger.warning("db.pool", "only %d left", n)`` logs
    ``"db.pool::only 3 left"``, which a :class:`PUBHandler` publishes under
    topic ``...WARNING.db.pool``. ``log(level, topic, msg, *args, **kwargs)``,
    ``debug``, ``info``, ``warning``, ``warn``, ``error``, ``exception``,
    ``critical`` and ``fatal`` all take ``(topic, msg, *args, **kwargs)``
    after their level. Use it with ``logging.setLoggerClass(TopicLogger)`` or
    ``TopicLogger("name")``.
    """

    def _topic_log(
        self, level: int, topic: str, msg: object, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> None:
        if self.isEnabledFor(level):
            # Skip this wrapper and the public method that called it, so the record
            # names the caller's file and line.
            kwargs["stacklevel"] = kwargs.get("stacklevel", 1) + 2
            super()._log(level, f"{topic}{TOPIC_DELIM}{msg}", args, **kwargs)

    def log(  # type: ignore[override]
        self, level: int, topic: str, msg: object, *args: Any, **kwargs: Any
    ) -> None:
        """Log ``msg % args`` at ``level`` under ``topic``."""
        if not isinstance(level, int):
            if logging.raiseExceptions:
                raise TypeError("level must be an integer")
            return
        self._topic_log(level, topic, msg, args, kwargs)

    def debug(self, topic: str, msg: object, *args: Any, **kwargs: Any) -> None:  # type: ignore[override]
        """Log at DEBUG under ``topic``."""
        self._topic_log(logging.DEBUG, topic, msg, args, kwargs)

    def info(self, topic: str, msg: object, *args: Any, **kwargs: Any) -> None:  # type: ignore[override]
        """Log at INFO under ``topic``."""
        self._topic_log(logging.INFO, topic, msg, args, kwargs)

    def warning(self, topic: str, msg: object, *args: Any, **kwargs: Any) -> None:  # type: ignore[override]
        """Log at WARNING under ``topic``."""
        self._topic_log(logging.WARNING, topic, msg, args, kwargs)

    warn = warning  # type: ignore[assignment]

    def error(self, topic: str, msg: object, *args: Any, **kwargs: Any) -> None:  # type: ignore[override]
        """Log at ERROR under ``topic``."""
        self._topic_log(logging.ERROR, topic, msg, args, kwargs)

    def exception(  # type: ignore[override]
        self, topic: str, msg: object, *args: Any, exc_info: Any = True, **kwargs: Any
    ) -> None:
        """Log at ERROR under ``topic`` with the exception being handled."""
        kwargs["exc_info"] = exc_info
        self._topic_log(logging.ERROR, topic, msg, args, kwargs)

    def critical(self, topic: str, msg: object, *args: Any, **kwargs: Any) -> None:  # type: ignore[override]
        """Log at CRITICAL under ``topic``."""
        self._topic_log(logging.CRITICAL, topic, msg, args, kwargs)

    fatal = critical  # type: ignore[assignment]
