/** Open/closed state of the shell's overlays. */
import { ref } from 'vue'

export const drawerOpen = ref(false)
export const paletteOpen = ref(false)
