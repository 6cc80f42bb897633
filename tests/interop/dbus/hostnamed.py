"""python-dbusmock template for systemd-hostnamed (python-dbusmock has none): the calls and
properties railgate's systemd backend uses. An empty static name hands the name to DHCP,
which this mock answers as "dhcp-given"."""

BUS_NAME = "org.freedesktop.hostname1"
MAIN_OBJ = "/org/freedesktop/hostname1"
MAIN_IFACE = "org.freedesktop.hostname1"
SYSTEM_BUS = True


def load(mock, parameters):
    name = parameters.get("Hostname", "panel-gw")
    mock.AddMethods(MAIN_IFACE, [
        ("SetStaticHostname", "sb", "",
         f'self.Set("{MAIN_IFACE}", "StaticHostname", args[0]); '
         f'self.Set("{MAIN_IFACE}", "Hostname", args[0] or "dhcp-given")'),
        ("SetHostname", "sb", "", f'self.Set("{MAIN_IFACE}", "Hostname", args[0])'),
    ])
    mock.AddProperties(MAIN_IFACE, {"Hostname": name, "StaticHostname": name})
