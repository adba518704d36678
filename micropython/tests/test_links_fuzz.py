# Random and mutated input through the parsers of untrusted bytes of issue
# #17 (modem answers, LoRa downlinks): only their own errors, or None, never
# another exception. Deterministic (a fixed-seed generator), a few thousand
# cases: node micropython/runner/exec.mjs micropython/tests/test_links_fuzz.py
from ferry import lora, modem

failures = []
state = [0x12345678]


def rnd(n):
    # xorshift32: the same cases on every run.
    x = state[0]
    x ^= (x << 13) & 0xFFFFFFFF
    x ^= x >> 17
    x ^= (x << 5) & 0xFFFFFFFF
    state[0] = x
    return x % n


SEEDS = ["+CREG: 0,1", "+CEREG: 2,5,\"1A2B\",\"01C3\",7", "+CSQ: 17,99", '+COPS: 0,0,"Ferry Mobile",7',
         "+EVT:RX_1:-70:8:UNICAST:1:4653000000000000002A", '+MSG: PORT: 1; RX: "4653000000000000002A"',
         "+RCV=5,4,FS42,-40,11"]
ALPHA = "+:,\"-0123456789ABCDEFabcdefFSRXCREGQ \x00\x7f\xff"


def mutate(s):
    b = list(s)
    for _ in range(1 + rnd(4)):
        op = rnd(3)
        i = rnd(len(b) + 1)
        if op == 0 and b:
            del b[min(i, len(b) - 1)]
        elif op == 1:
            b.insert(i, ALPHA[rnd(len(ALPHA))])
        elif b:
            b[min(i, len(b) - 1)] = ALPHA[rnd(len(ALPHA))]
    return "".join(b)


n = 0
for k in range(3000):
    line = mutate(SEEDS[rnd(len(SEEDS))]) if k % 4 else "".join(ALPHA[rnd(len(ALPHA))] for _ in range(rnd(40)))
    for f in (lambda: modem.parse_reg([line], "+CREG"), lambda: modem.parse_reg([line], "+CEREG"),
              lambda: modem.parse_csq([line]), lambda: modem.parse_cops([line])):
        try:
            f()
        except modem.ModemError:
            pass
        except Exception as e:
            failures.append(line)
            print("FAIL modem parser", repr(line), repr(e))
    try:
        seq = lora.parse_downlink(line)
        if seq is not None and not 0 <= seq < 1 << 64:
            failures.append(line)
            print("FAIL downlink out of range", repr(line), seq)
    except Exception as e:
        failures.append(line)
        print("FAIL lora parser", repr(line), repr(e))
    n += 1

if failures:
    raise SystemExit(1)
print("ok test_links_fuzz", n)
