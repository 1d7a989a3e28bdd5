"""The stand-in stack's media component: a process that only has to be there (its pid file says where)."""

import time

while True:
    time.sleep(3600)
