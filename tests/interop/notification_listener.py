"""Receives Ironstone's notifications with oslo.messaging's own listener,
as Ceilometer and other consumers do, and prints each one as a JSON line.

Usage: notification_listener.py TRANSPORT_URL EXCHANGE TOPIC SECONDS

Prints "READY" once it consumes, then one line per notification:
{"publisher_id", "event_type", "payload", "metadata"}; exits after SECONDS
or when stdin closes.
"""

import json
import sys
import threading

import oslo_messaging
from oslo_config import cfg


class Endpoint:
    def __init__(self):
        self.lock = threading.Lock()

    def _emit(self, priority, publisher_id, event_type, payload, metadata):
        with self.lock:
            print(
                json.dumps(
                    {
                        "priority": priority,
                        "publisher_id": publisher_id,
                        "event_type": event_type,
                        "payload": payload,
                        "metadata": metadata,
                    }
                ),
                flush=True,
            )

    def info(self, ctxt, publisher_id, event_type, payload, metadata):
        self._emit("info", publisher_id, event_type, payload, metadata)


def main():
    url, exchange, topic, seconds = sys.argv[1:5]
    conf = cfg.ConfigOpts()
    conf([], project="ironstone-notification-test")
    transport = oslo_messaging.get_notification_transport(conf, url=url)
    targets = [oslo_messaging.Target(topic=topic, exchange=exchange)]
    listener = oslo_messaging.get_notification_listener(
        transport, targets, [Endpoint()], executor="threading"
    )
    listener.start()
    print("READY", flush=True)
    done = threading.Event()

    def watch_stdin():
        sys.stdin.read()
        done.set()

    threading.Thread(target=watch_stdin, daemon=True).start()
    done.wait(float(seconds))
    listener.stop()
    listener.wait()


if __name__ == "__main__":
    main()
