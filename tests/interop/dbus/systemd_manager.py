"""python-dbusmock template for the systemd manager calls railgate makes (the stock
`systemd` template has no TryRestartUnit): restarting systemd-timesyncd after its drop-in
changed."""

BUS_NAME = "org.freedesktop.systemd1"
MAIN_OBJ = "/org/freedesktop/systemd1"
MAIN_IFACE = "org.freedesktop.systemd1.Manager"
SYSTEM_BUS = True


def load(mock, parameters):
    mock.AddMethods(MAIN_IFACE, [
        ("TryRestartUnit", "ss", "o", 'ret = "/org/freedesktop/systemd1/job/1"'),
        ("RestartUnit", "ss", "o", 'ret = "/org/freedesktop/systemd1/job/1"'),
    ])
