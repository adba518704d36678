"""Solar sensor station: read the sensors, send a reading, sleep."""
from lib import sensor, uplink
import tomllib

with open("config.toml", "rb") as f:
    cfg = tomllib.load(f)

reading = sensor.read(cfg["sensor"]["pin"])
uplink.send(cfg["uplink"]["url"], reading)
