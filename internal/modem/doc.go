// Package modem talks to a cellular modem, or a LoRa module, in AT commands
// over a serial port (raw termios through golang.org/x/sys/unix on Linux). The data path of a
// cellular link is the operating system's (PPP, or the modem's own network
// interface, which package link binds to); this package only asks the
// modem what the agent reports and decides on:
//
//	AT+CREG? / AT+CEREG?   registration (2G/3G, LTE): home, roaming, searching, denied
//	AT+CSQ                 signal quality: RSSI 0-31 (-113 to -51 dBm), 99 unknown
//	AT+COPS?               the operator's name
//
// Every command has a deadline, and a modem that answers slowly, not at all,
// with "NO CARRIER", "ERROR" or "+CME ERROR", or with garbage between its
// lines (unsolicited result codes, echo, line noise) fails that command
// with an error saying so, never blocks or panics the agent. The parsers
// take untrusted bytes and are fuzzed.
package modem
