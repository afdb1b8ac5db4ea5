/**
 * Every shared-component front end in this build (contacts, tasks, notes …). Each `./<slug>/index.ts`
 * has the same contract as a module's (`defineShared` = `defineModule`: routes, menu label, widgets,
 * messages), becomes its own lazy chunk and is loaded once the company has booked any module.
 */
import { loadersBySlug } from '@/core/modules/registry'

export const sharedLoaders = loadersBySlug(import.meta.glob('./*/index.ts'))
