/** Route names other modules need without importing the router (which imports the shell). */
export const APP_ROUTE = 'app'
