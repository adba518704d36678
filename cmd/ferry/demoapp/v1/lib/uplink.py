import json, urllib.request

def send(url, reading):
    req = urllib.request.Request(url, data=json.dumps(reading).encode(), method="POST")
    urllib.request.urlopen(req, timeout=30)
