// Package link chooses how the agent reaches its origin when a device has
// more than one way out (issue #17): WiFi when a hotspot is near, a cellular
// modem paid by the megabyte, a LoRa radio that is only a trigger.
//
// The links are the config's [[transport]] tables, in order of preference.
// A link is up when its network interface exists, is up and has a usable
// address (not only a link-local one); a link that is not up within its
// up_timeout_sec is passed over for the next. Of the links that are up the
// cheapest (cost_per_mb, then the order of the file) carries the cycle; the
// agent's connections are bound to its interface (Binder, SO_BINDTODEVICE).
// A lora link never carries data: it is skipped here (see package lora).
//
// Cost: an update of N bytes over a link costs N / 1,000,000 * cost_per_mb
// (a megabyte is 10^6 bytes, as carriers bill). Before any file content is
// fetched, package update asks a Cycle (its update.Budget) with the bytes
// the update will take; over a costly link the update is deferred when its
// cost is over max_update_cost, over what is left of monthly_budget this
// calendar month (local time), or while a free link may still come: until
// max_wait_for_free_hours after the release was first seen (recorded, so a
// restart does not start the wait again). The reason is one line, like
// "1.2 MB over cellular costs 0.60; budget left this month 0.25".
//
// The ledger, <state>/budget.json, keeps what this month's updates cost
// and when the pending release was first seen; it is written atomically and
// survives restarts. A new month starts from nothing. What is charged is
// what was downloaded (update.Result.Downloaded) over the link, including
// the manifest of a deferred update; the channel poll itself (a few hundred
// bytes, most often a 304) is not charged.
package link
