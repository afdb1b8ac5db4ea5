/**
 * Every module front end in this build. Each `./<slug>/index.ts` becomes its own lazy chunk and
 * is loaded only when the company has booked the module.
 */
import { loadersBySlug } from '@/core/modules/registry'

export const moduleLoaders = loadersBySlug(import.meta.glob('./*/index.ts'))
