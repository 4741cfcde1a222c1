-- One database per service (docker-compose); they never read each other's.
CREATE DATABASE border_identity;
CREATE DATABASE border_intake;
CREATE DATABASE border_quarantine;
CREATE DATABASE border_transport;
CREATE DATABASE border_notify;
CREATE DATABASE border_dashboard;
