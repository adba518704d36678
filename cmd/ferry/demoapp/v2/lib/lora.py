def send(channel, reading):
    """Send a reading as a compact LoRa frame."""
    frame = "{pin}:{temp_c}:{battery_v}".format(**reading).encode()
    return len(frame)
