/* The board services startup.c gives the example's main.c. */
#ifndef BOARD_H
#define BOARD_H
#include <stdint.h>
void board_write(const char *text);          /* semihosting: the host's stdout */
void board_exit(int status);
void board_counter_start(void);               /* TIM2: one tick per instruction under -icount shift=0 */
uint32_t board_counter(void);
void board_paint_stack(void);                 /* paints the free stack below the caller's frame */
uint32_t board_stack_used_below(const void *mark);   /* bytes used below `mark` since the painting */
#include <stddef.h>
size_t board_heap_used(void);                 /* bytes the runtime's error path took from the pool */
#endif
