/* doctor.h — host capability probes (tiny VMs) and `rrvm doctor`. */
#ifndef RRVM_DOCTOR_H
#define RRVM_DOCTOR_H

/* `rrvm doctor` subcommand. */
int doctor__cmd(int argc, char **argv);

#endif
