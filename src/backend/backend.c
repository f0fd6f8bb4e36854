/*
 * What backend.h declares beside the vtable.
 */
#include "backend/backend.h"

const char *
power_state_name(enum power_state p)
{
	switch (p) {
	case POWER_RUNNING:
		return "running";
	case POWER_PAUSED:
		return "paused";
	case POWER_SUSPENDED:
		return "suspended";
	case POWER_OFF:
		return "off";
	default:
		return "unknown";
	}
}
