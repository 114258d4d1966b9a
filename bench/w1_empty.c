/* W1 floor: a process that does nothing.  Its wall time, CPU and RSS are what
 * exec, the dynamic loader and exit cost on this machine, the part of every
 * W1 figure that no library can remove. */
int main(void) { return 0; }
