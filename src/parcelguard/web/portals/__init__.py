"""One module per portal: consumer, courier, enterprise security, supervision
department, police, auditor."""
