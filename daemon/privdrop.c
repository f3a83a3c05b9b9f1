/* placeholder */
#include "config.h"
int main(void);
