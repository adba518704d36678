# ferry/backoff.py: the retry policy of ferry-agent, for http.py's callers
# (re-exported there as http.Backoff and http.retry).
#
# Backoff(retries, backoff_sec, max_backoff_sec, sleep=, feed=, rand=):
# capped exponential backoff with +-50% jitter, a server's Retry-After
# honoured (capped too); sleep is cut in slices of at most one second with
# feed() (the watchdog) between them. retry(fn, backoff) calls fn until it
# returns or fails for good; which failures are worth a retry is
# http.transient's call.
import time


def _random():
    try:
        import random
        return random.getrandbits(16) / 65536
    except ImportError:
        return (time.ticks_us() & 0xFFFF) / 65536


class Backoff:
    def __init__(self, retries=3, backoff_sec=2, max_backoff_sec=60, sleep=None, feed=None, rand=None, log=None):
        self.retries = retries
        self.first = backoff_sec
        self.max = max(max_backoff_sec, backoff_sec)
        self.sleep = sleep or time.sleep
        self.feed = feed
        self.rand = rand or _random
        self.log = log
        self.progress()

    def progress(self):
        """An attempt moved the transfer on: the count starts over."""
        self.attempt = 0
        self.next = self.first

    def wait(self, e):
        """Records a failed attempt: raises e when it is not transient or the
        retries are spent, else sleeps (feeding the watchdog) and returns."""
        self.attempt += 1
        from ferry.http import transient
        if not transient(e) or self.attempt > self.retries:
            raise e
        d = self.next * (0.5 + self.rand())
        self.next = min(self.next * 2, self.max)
        ra = getattr(e, "retry_after", -1)
        if ra >= 0:
            d = ra
        d = min(d, self.max)
        if self.log:
            self.log("retry %d in %.1f s: %s" % (self.attempt, d, e))
        while d > 0:
            step = min(d, 1)
            if self.feed:
                self.feed()
            self.sleep(step)
            d -= step
        if self.feed:
            self.feed()
        return d


def retry(fn, backoff):
    """Calls fn() until it returns, retrying transient failures by backoff."""
    while True:
        try:
            return fn()
        except Exception as e:
            backoff.wait(e)
