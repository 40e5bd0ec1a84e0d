import ipaddress


def subnet_count(cidr: str) -> int:
    return len(list(ipaddress.ip_network(cidr).subnets(prefixlen_diff=2)))
