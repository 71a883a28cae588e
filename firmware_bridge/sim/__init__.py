"""A virtual sensor on the bumble BLE stack, its faults, and a bleak backend over it."""
