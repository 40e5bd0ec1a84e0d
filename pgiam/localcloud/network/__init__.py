"""Whether a connection inside the local cloud's VPCs would get through on AWS: security groups,
routes and network ACLs evaluated from moto's EC2 state (see :mod:`.reachability`)."""
