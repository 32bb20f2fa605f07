#!/usr/bin/env python3
"""make_inputs.py N DIR: writes N tickets, DIR/00001.json ..., each an
--input-json object {"id", "text"}. The same N gives the same files."""
import json, os, sys

SUBJECTS = [
    ("billing", "I was charged twice on my last invoice, please refund one"),
    ("outage", "The dashboard is down and the API answers 503 since this morning"),
    ("bug", "Export crashes with an error when the report has no rows"),
    ("account", "I cannot login: the password reset email never arrives"),
    ("other", "Do you have a office in Lisbon? We would like to visit"),
]

def main():
    n, out = int(sys.argv[1]), sys.argv[2]
    os.makedirs(out, exist_ok=True)
    for i in range(1, n + 1):
        label, text = SUBJECTS[(i * 7) % len(SUBJECTS)]
        with open(os.path.join(out, f"{i:05d}.json"), "w") as f:
            json.dump({"id": f"T{i:05d}", "text": f"Ticket {i}: {text}."}, f)

if __name__ == "__main__":
    main()
