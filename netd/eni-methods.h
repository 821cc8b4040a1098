/* SPDX-License-Identifier: GPL-2.0-only */
/* The methods of the ENI inventory (eni.h): eni.register, eni.deregister, eni.list, eni.show. */
#ifndef NETD_ENI_METHODS_H
#define NETD_ENI_METHODS_H

#include "ctl-server.h"

extern const struct ctl_method eni_methods[];

#endif
