/** A JSON value: what a state machine definition, a state's input or a Task's result is made of. */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
