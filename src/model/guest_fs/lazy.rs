//! Owns the lazily built guest tree: a VM's filesystem made on first use, so that a server with
//! many VMs does not pay at start for trees nobody reads.

use super::GuestFs;

/// How a deferred guest filesystem is made.
type Recipe = std::sync::Arc<dyn Fn() -> GuestFs + Send + Sync>;

/// A guest filesystem that may be built on first use, so that a server with many VMs does not
/// pay at start for trees that nobody reads. It reads and writes as a [`GuestFs`] (through
/// `Deref`); a deferred one is built, once, by the first access.
pub struct LazyFs {
    recipe: Option<Recipe>,
    built: std::sync::OnceLock<GuestFs>,
}

impl LazyFs {
    /// A filesystem built by `recipe` when it is first used. The recipe must give the same tree
    /// whenever it runs (it captures its own time).
    pub fn deferred(recipe: impl Fn() -> GuestFs + Send + Sync + 'static) -> Self {
        Self {
            recipe: Some(std::sync::Arc::new(recipe)),
            built: std::sync::OnceLock::new(),
        }
    }

    /// Whether the tree has been built yet.
    pub fn is_built(&self) -> bool {
        self.built.get().is_some()
    }
}

impl From<GuestFs> for LazyFs {
    fn from(fs: GuestFs) -> Self {
        Self {
            recipe: None,
            built: std::sync::OnceLock::from(fs),
        }
    }
}

impl std::ops::Deref for LazyFs {
    type Target = GuestFs;

    fn deref(&self) -> &GuestFs {
        self.built.get_or_init(|| {
            let recipe = self
                .recipe
                .as_ref()
                .expect("an unbuilt LazyFs has a recipe");
            recipe()
        })
    }
}

impl std::ops::DerefMut for LazyFs {
    fn deref_mut(&mut self) -> &mut GuestFs {
        let _ = std::ops::Deref::deref(self);
        self.built.get_mut().expect("built just above")
    }
}

impl Clone for LazyFs {
    /// A built tree is copied; an unbuilt one shares the recipe and is built on its own.
    fn clone(&self) -> Self {
        match self.built.get() {
            Some(fs) => fs.clone().into(),
            None => Self {
                recipe: self.recipe.clone(),
                built: std::sync::OnceLock::new(),
            },
        }
    }
}

impl std::fmt::Debug for LazyFs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.built.get() {
            Some(fs) => fs.fmt(f),
            None => f.write_str("GuestFs(not built yet)"),
        }
    }
}
