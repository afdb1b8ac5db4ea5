/** The small API a module front end uses to plug into the shell. */
import type { Component } from 'vue'
import type { RouteRecordRaw } from 'vue-router'

export interface LocalizedText {
  de: string
  en: string
}

export type AsyncComponent = () => Promise<Component | { default: Component }>

export interface DashboardWidgetDef {
  /** Unique over all modules, e.g. "example.recent". */
  id: string
  title: LocalizedText
  description?: LocalizedText
  component: AsyncComponent
  /** Columns it spans by default on wide screens (1 or 2). */
  size?: 1 | 2
  /** Shown only when the user holds at least one of these permissions. */
  permissions?: string[]
  /** Company users (default) or platform staff. */
  audience?: 'tenant' | 'platform'
}

export interface ModuleFrontend {
  slug: string
  /**
   * Menu label when the manifest has no `ui` (shared components such as contacts, whose routes then
   * go below `/<slug>`). The manifest's `ui` label wins when it has one.
   */
  menu?: { label: LocalizedText }
  /** Routes below the module's path (the manifest's ui.path), e.g. `{ path: '', component: … }`. */
  routes: RouteRecordRaw[]
  widgets?: DashboardWidgetDef[]
  /** Extra messages merged under `mod.<slug>.` in each language. */
  messages?: Partial<Record<'de' | 'en', Record<string, unknown>>>
}

/** What a module's `index.ts` exports as default. */
export function defineModule(definition: ModuleFrontend): ModuleFrontend {
  return definition
}

/** What a shared component's `src/shared/<slug>/index.ts` exports as default: the same contract. */
export const defineShared = defineModule

export type ModuleLoader = () => Promise<{ default: ModuleFrontend }>
