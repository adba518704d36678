"""Solar sensor station: read the sensors, send a reading over LoRa, sleep."""
from lib import sensor, lora
import tomllib

with open("config.toml", "rb") as f:
    cfg = tomllib.load(f)

reading = sensor.read(cfg["sensor"]["pin"])
if reading["battery_v"] > cfg["power"]["min_battery_v"]:
    lora.send(cfg["lora"]["channel"], reading)
