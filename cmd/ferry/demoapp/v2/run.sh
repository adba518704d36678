#!/bin/sh
# start the station
cd "$(dirname "$0")" && exec python3 main.py
