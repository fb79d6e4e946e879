"""pyzmq's ``zmq.log``: logging over PUB/SUB.

:mod:`purezmq.log.handlers` has :class:`~purezmq.log.handlers.PUBHandler`
(publish records) and :class:`~purezmq.log.handlers.TopicLogger`;
``python -m purezmq.log ENDPOINT`` is the watcher that prints them
(``--help`` for its options).
"""
